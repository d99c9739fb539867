"""Extension instances that only the web process needs; bound in app.register_web_extensions.

They live apart from app/extensions.py so that a CronJob pod, which builds the app
with ``web=False``, never imports Flask-WTF and WTForms (see bench/jobstart).
"""
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
