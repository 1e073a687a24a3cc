"""Configuration: typed settings (``settings``) and secrets (``secrets``), resolved once and never logged."""
