"""The admin UI under /admin: login, the people who run the node, and what they manage."""
