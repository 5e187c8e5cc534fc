"""Runs Bookshelf's services as plain local processes, on free ports.

The same launcher serves the test fixtures (a throwaway Postgres for the web tests,
a broker + MailHog + worker for the integration tests, the whole stack for e2e) and
`make dev`. Each service is a `ManagedProcess`; none relies on fixed ports or on
anything a previous session left running.
"""

from devstack.process import ManagedProcess, StackError

__all__ = ["ManagedProcess", "StackError"]
