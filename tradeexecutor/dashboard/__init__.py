"""Dashboards in the browser: strategy, fund and ledger pages of one executor, and a fleet view.

Layers, each testable on its own:

- `timewindow`, `settings`, `explorer`: parsing and configuration (plain values);
- `strategy_data`, `fund_data`, `ledger_data`: figures as plain functions of a `State`;
- `charts`: Bokeh figures from those figures (BokehJS is served from the bokeh wheel);
- `pages`: Jinja2 templates (autoescaped) turned into HTML;
- `views`: thin pyramid views registered by `tradeexecutor.webhook.routes`;
- `auth/`: users database, password hashing, signed sessions, CSRF, login rate limit;
- `fleet`: many executors on one page, read from their webhooks.
"""
