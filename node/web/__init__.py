"""HTTP routes: discovery, ActivityPub documents, the public site."""
