"""The audio front end: decoding, damage checks and log-mel (:mod:`.signal`), the sharded
feature store (:mod:`.store`), and worker-process hygiene (:mod:`.workers`)."""
