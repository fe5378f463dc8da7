"""The service's HTTP routes, one router per resource: jobs and programs, sessions, admin
(tokens and status). Each takes the running :class:`~hqml.runtime.routes.common.Service` from
the application's state."""
