"""The ops dashboard: `GET /dashboard` and its pages, served by the gateway.

Pages are server-rendered HTML (Jinja2). A page's shell carries no data, so it loads before
sign-in; its content is a part (`/dashboard/parts/...`) that htmx fetches with the tab's
bearer token and swaps in, and fetches again when the live stream brings a change.
"""
