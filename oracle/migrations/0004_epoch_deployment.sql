-- The deployment value each closed epoch's signature is bound to (hexproof-epoch/2 messages).
ALTER TABLE epochs ADD COLUMN deployment BYTEA;
