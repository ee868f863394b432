"""Rendering the node's own objects as ActivityStreams (``*_to_as``)."""
