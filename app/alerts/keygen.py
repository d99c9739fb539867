"""`python -m app.alerts.keygen`: print a new key for VIGIL_CHANNEL_KEYS."""
from cryptography.fernet import Fernet

if __name__ == "__main__":
    print(Fernet.generate_key().decode())
