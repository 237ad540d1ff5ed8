"""The gateway's composed views: one answer made of several services' parts."""
