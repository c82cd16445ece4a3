"""What every other package stands on: the one exception type, the registry of frameworks, the settings
with their defaults, the seeded random streams, and safe file and memory handling.

Nothing here imports a framework or another package of the project.
"""
