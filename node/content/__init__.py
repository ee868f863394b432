"""Events and callouts: the network's own, and those of the nodes it follows."""
