"""The course's local mock HTTP API.

Run it with `python -m mock_server`; build it in tests with `mock_server.app.create_app(Config())`.
"""
