"""The Train panel: fine-tune RetinaNet from the app with live charts and a model history.

``install_training_panel(window, document, model_worker)`` adds the dock and its menu action to the
main window; everything else here is the panel's parts (options form, focal-loss plot, charts, the
worker that runs ``engine.train.fit`` on its own thread, the model history).
"""
