"""Service certificates (志愿服务证明): a PDF record of a member's verified service hours over a
period, with a public verification page (``/verify/<code>``) reached by the QR code printed on
it. What it holds follows the national guidance on volunteer service record certificates
(民发〔2015〕149号); it counts only verified service whose deposit was never reversed."""
