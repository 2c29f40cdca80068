"""Files RetinaLab needs at run time, installed as ``engine.resource_files``; see ``engine/resources.py``."""
