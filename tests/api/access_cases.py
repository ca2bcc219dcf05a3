"""Access declarations for the API (see tests/test_access.py).

Anonymous requests get 401 (checked for every /api/ route by test_access). The declarations
here log in through the web form: a browser session cookie must not authorise the API, which is
exempt from CSRF protection, so every call answers 401. Scoping with bearer tokens (404 for
posts and claims outside the member's reach, 403 for non-members) is tested in test_api.py.
"""

ANY_LOGGED_IN: set[str] = set()

SCOPED = {
    "api.revoke_token": lambda t: [("DELETE", "/api/v1/auth/token", "member", 401)],
    "api.list_posts": lambda t: [("GET", "/api/v1/posts", "member", 401)],
    "api.get_post": lambda t: [("GET", "/api/v1/posts/1", "member", 401)],
    "api.create_claim": lambda t: [("POST", "/api/v1/posts/1/claims", "member", 401)],
    "api.delete_claim": lambda t: [("DELETE", "/api/v1/claims/1", "member", 401)],
    "api.my_claims": lambda t: [("GET", "/api/v1/me/claims", "member", 401)],
    "api.checkin": lambda t: [("POST", "/api/v1/checkins", "member", 401)],
    "api.my_account": lambda t: [("GET", "/api/v1/me/account", "member3", 401)],
    "api.my_statement": lambda t: [("GET", "/api/v1/me/statement", "member", 401)],
}
