"""The flow: ``table`` declares the steps (name, function, inputs, settings), ``steps/``
holds one module per step, ``products`` loads what earlier steps produced for later ones,
``keys`` digests the code each step runs from its import closure, ``build`` keeps the
build directory and its manifest, ``results`` assembles results.json and ``runner`` runs
the steps in order."""
