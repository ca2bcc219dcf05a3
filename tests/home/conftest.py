from posts_fixtures import catalogue, make_member, make_post, member_of  # noqa: F401
