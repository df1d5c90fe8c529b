"""Connect: connected accounts, their capabilities, bank accounts, onboarding and login links."""
