from match_fixtures import (catalogue, make_member, make_post, proposals,  # noqa: F401
                            run_match, skills)
