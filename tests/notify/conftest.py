from notify_fixtures import (notify_config, sms_server, smtp_server, tls_files,  # noqa: F401
                             webhook_server, wecom_server)
