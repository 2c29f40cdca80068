"""The app's docks, dialogs and small controls; each one is a view built from a model or a Document."""
