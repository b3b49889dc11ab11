"""Command line interface: the only layer that talks to the user's terminal."""
