"""Code shared by the workflow steps (the modules in scripts/): each module owns
one concern, and no step imports another step."""
