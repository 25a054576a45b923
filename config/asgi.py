import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_asgi_application()
if settings.DEBUG:
    # Daphne serves no static files; in development Django does (admin CSS).
    application = ASGIStaticFilesHandler(application)
