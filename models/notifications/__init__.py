"""Notifications: the outbox and inbox, devices, preferences, deliveries, webhooks."""
