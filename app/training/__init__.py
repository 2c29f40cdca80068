"""The Train panel: fine-tune RetinaNet from the app with live charts and a model history.

``install.install_training(window, train_action, document, model_controller)`` adds the dock to the
main window, shown by its Model › Train… action; everything else here is the panel's parts (options
form, focal-loss plot, charts, the worker that runs ``engine.train.fit`` on its own thread, the model
history).
"""
