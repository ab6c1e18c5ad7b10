"""The report layer: results and events, the json document, the text/json/yaml renderers, saving
runs to disk."""
