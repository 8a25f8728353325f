"""Helpers for the course's notebooks: the mock server (course.server) and lab tooling."""
