"""Access declarations: a user's own notification settings; the delivery log is for district
admins only."""

ANY_LOGGED_IN = {"notify.settings"}

SCOPED = {
    "notify.deliveries": lambda t: [("GET", "/inbox/deliveries", user, 403)
                                    for user in ("street_admin", "staff", "liaison", "member")],
    "notify.retry": lambda t: [("POST", "/inbox/deliveries/1/retry", user, 403)
                               for user in ("street_admin", "staff", "member")],
}
