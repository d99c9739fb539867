"""SQLAlchemy 2.x typed models, one module per aggregate."""
from app.models.alerting import Channel, MaintenanceWindow, Notification
from app.models.api_token import ApiToken
from app.models.base import Base, iso_utc, utcnow
from app.models.jobrun import JobRun, RunRequest
from app.models.login_session import LoginSession
from app.models.monitor import CheckResult, HourlyRollup, Incident, Monitor, failed_checks_sum
from app.models.user import User

__all__ = ["ApiToken", "Base", "Channel", "MaintenanceWindow", "Notification", "CheckResult", "HourlyRollup", "Incident", "JobRun", "LoginSession", "Monitor", "RunRequest", "User",
           "failed_checks_sum", "iso_utc", "utcnow"]
