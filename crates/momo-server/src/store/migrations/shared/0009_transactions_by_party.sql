-- One party's wallet (the console's handset simulator): its transactions newest first, and the
-- ones waiting for its approval. One index serves both, so that a page stays fast with millions
-- of stored transactions however they are spread over parties: equal on the party (its id as
-- wallets name it, lower case), its type, the environment and whether it waits for approval,
-- then in time order. The history reads the waiting and the other transactions as two ordered
-- ranges and merges them; the prompts are the first range alone. Every index costs each insert,
-- so this is the only one the page adds.
CREATE INDEX transactions_by_party
    ON transactions (lower(party_id), party_type, environment, awaiting_approval, created_at);
