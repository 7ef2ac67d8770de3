"""The worker process and what leaves the building: scheduler, sweep, deliver, push, webhook."""
