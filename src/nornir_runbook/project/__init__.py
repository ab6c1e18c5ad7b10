"""The project layer: config.yaml and inventory reading and checking, host selection, inventory
views."""
