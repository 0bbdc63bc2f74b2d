"""WSGI entry for production servers: `gunicorn 'bot.wsgi:app'`."""

import logging

from bot import logmask
from bot.app import create_app

app = create_app()
# gunicorn configures its own handlers: mask personal data there too
logmask.install(logging.getLogger().handlers + logging.getLogger("gunicorn.error").handlers)
