"""WSGI entry for production servers: `gunicorn 'bot.wsgi:app'`."""

import logging

from bot import logmask
from bot.app import create_app
from bot.heap import freeze_startup_heap

app = create_app()
# gunicorn configures its own handlers: mask personal data there too
logmask.install(logging.getLogger().handlers + logging.getLogger("gunicorn.error").handlers)
freeze_startup_heap()  # last: everything loaded so far lives as long as the process
