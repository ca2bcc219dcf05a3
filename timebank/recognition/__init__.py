"""Recognition (评选表彰): yearly rankings by verified service, star levels, annual awards with a
public-notice period and frozen final lists, and the year-end ranking snapshot."""
