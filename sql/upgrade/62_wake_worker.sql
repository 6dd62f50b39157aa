-- Wake this database's worker when the update commits: a worker of this
-- library left the database alone while it was at 0.1.0.
UPDATE vectorstore.job SET updated_at = updated_at WHERE false;
