"""Access declarations for the glossary of figures: any signed-in user may read it."""

ANY_LOGGED_IN = {"measures.glossary"}
