"""The people's pages: named accounts, sessions, and the server-rendered pages
(agent desktop, supervisor wallboard, department portal, admin) on top of the
work-order API.  Nothing imports this package except the API's app wiring."""
