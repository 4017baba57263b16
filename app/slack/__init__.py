"""The Slack bot: questions about span patterns asked and answered in Slack.

One Bolt app (``app.slack.bolt_app``) serves both ways Slack can reach Spanwise: HTTP mode,
at ``POST /slack/events`` of the Spanwise server (``app.slack.router``), and Socket Mode, run
by ``spanwise slack`` for deployments without a public URL. Its listeners
(``app.slack.handlers``) ask the same chat service as ``POST /api/chat`` and record the same
corrections as the patterns API; ``app.slack.messages`` turns the results into Block Kit.
``manifest.yaml`` beside this file creates the Slack app.
"""
