"""GUI-thread coordinators between the Document, the docks and the workers.

``ProjectController`` opens folders and runs export/import, ``Navigator`` decides which image is
shown and feeds the image loader, ``ModelController`` owns the model worker. They hold the app's
behaviour so that ``MainWindow`` only composes and wires.
"""
