"""Reports from the result store: tables (:mod:`.tables`), statistics (:mod:`.stats`), figures (:mod:`.plots`)."""
