---------------------------------------------------------------------------
-- Comments on every type, table, view, sequence and column of the
-- extension (the functions carry theirs where they are made). The same
-- statements are the upgrade part sql/upgrade/97_comments.sql, so a database
-- updated from 0.1.0 has the same comments; sql/98_comments.sql fails when
-- one is missing.
---------------------------------------------------------------------------

COMMENT ON SCHEMA vectorstore IS
  'OpenAI Files and Vector Stores API as SQL (extension vectorstore). PUBLIC has no USAGE: GRANT USAGE ON SCHEMA vectorstore TO a role to let it in.';
COMMENT ON FUNCTION vectorstore._credentials_changed() IS
  'Internal trigger: tells every session that credentials changed, so none uses a stale one.';
COMMENT ON SEQUENCE vectorstore.job_id_seq IS
  'Ids of vectorstore.job (dumped by pg_dump with the jobs). No role but the owner may use it.';
COMMENT ON SEQUENCE vectorstore.sync_change_id_seq IS
  'Ids of vectorstore.sync_change. No role but the owner may use it.';
COMMENT ON TYPE vectorstore.vector_store IS
  'A vector store as the API returns it (vs_store_create, vs_store_get, vs_store_update, vs_stores): a typed column per field, the whole object in raw.';
COMMENT ON TYPE vectorstore.openai_file IS
  'A File of the Files API (vs_file_upload, vs_file_get, vs_files): a typed column per field, the whole object in raw.';
COMMENT ON TYPE vectorstore.vector_store_file IS
  'A file attached to a vector store (vs_store_file_add, vs_store_file_get, vs_store_files, vs_upload, vs_batch_files): a typed column per field, the whole object in raw.';
COMMENT ON TYPE vectorstore.vector_store_file_batch IS
  'A file batch (vs_batch_create, vs_batch_get, vs_batch_cancel, vs_batch_poll): a typed column per field, the whole object in raw.';
COMMENT ON TYPE vectorstore.vector_store_search_result IS
  'One search result of vs_search: rank 1..n in descending score order, the text, the file''s attributes, the result as sent in raw.';

COMMENT ON COLUMN vectorstore.vector_store.id IS 'The vector store id (vs_...).';
COMMENT ON COLUMN vectorstore.vector_store.name IS 'Its name.';
COMMENT ON COLUMN vectorstore.vector_store.description IS 'Its description.';
COMMENT ON COLUMN vectorstore.vector_store.status IS 'expired, in_progress or completed.';
COMMENT ON COLUMN vectorstore.vector_store.usage_bytes IS 'Bytes the store''s files use.';
COMMENT ON COLUMN vectorstore.vector_store.files_in_progress IS 'Files still being processed (file_counts.in_progress).';
COMMENT ON COLUMN vectorstore.vector_store.files_completed IS 'Files processed and searchable (file_counts.completed).';
COMMENT ON COLUMN vectorstore.vector_store.files_failed IS 'Files that failed processing (file_counts.failed).';
COMMENT ON COLUMN vectorstore.vector_store.files_cancelled IS 'Files whose processing was cancelled (file_counts.cancelled).';
COMMENT ON COLUMN vectorstore.vector_store.files_total IS 'All its files (file_counts.total).';
COMMENT ON COLUMN vectorstore.vector_store.created_at IS 'When it was created.';
COMMENT ON COLUMN vectorstore.vector_store.last_active_at IS 'When it was last active (what expires_after anchors on).';
COMMENT ON COLUMN vectorstore.vector_store.expires_at IS 'When it expires; NULL: never.';
COMMENT ON COLUMN vectorstore.vector_store.expires_after IS 'Its expiration policy, {"anchor": "last_active_at", "days": n}.';
COMMENT ON COLUMN vectorstore.vector_store.metadata IS 'Its metadata: up to 16 string pairs.';
COMMENT ON COLUMN vectorstore.vector_store.raw IS 'The whole object as the server sent it, fields this version does not know included.';

COMMENT ON COLUMN vectorstore.openai_file.id IS 'The File id (file-...).';
COMMENT ON COLUMN vectorstore.openai_file.filename IS 'Its name as uploaded.';
COMMENT ON COLUMN vectorstore.openai_file.bytes IS 'Its size in bytes.';
COMMENT ON COLUMN vectorstore.openai_file.purpose IS 'assistants (what vector stores use), batch, fine-tune, vision, user_data or evals.';
COMMENT ON COLUMN vectorstore.openai_file.status IS 'Deprecated by the API (uploaded, processed or error); kept as sent.';
COMMENT ON COLUMN vectorstore.openai_file.status_details IS 'Deprecated by the API; kept as sent.';
COMMENT ON COLUMN vectorstore.openai_file.created_at IS 'When it was uploaded.';
COMMENT ON COLUMN vectorstore.openai_file.expires_at IS 'When it expires (expires_after of vs_file_upload); NULL: never.';
COMMENT ON COLUMN vectorstore.openai_file.raw IS 'The whole object as the server sent it, fields this version does not know included.';

COMMENT ON COLUMN vectorstore.vector_store_file.id IS 'The File id (file-...).';
COMMENT ON COLUMN vectorstore.vector_store_file.vector_store_id IS 'The vector store it is attached to.';
COMMENT ON COLUMN vectorstore.vector_store_file.status IS 'in_progress, completed (searchable), failed or cancelled.';
COMMENT ON COLUMN vectorstore.vector_store_file.usage_bytes IS 'Bytes it uses in the store.';
COMMENT ON COLUMN vectorstore.vector_store_file.created_at IS 'When it was attached.';
COMMENT ON COLUMN vectorstore.vector_store_file.last_error_code IS 'Why it failed: server_error, unsupported_file or invalid_file; NULL unless failed.';
COMMENT ON COLUMN vectorstore.vector_store_file.last_error_message IS 'The API''s message for a failed file.';
COMMENT ON COLUMN vectorstore.vector_store_file.chunking_strategy IS 'How it was chunked: {"type": "static", "static": {...}} or other.';
COMMENT ON COLUMN vectorstore.vector_store_file.attributes IS 'Its attributes, what search filters test.';
COMMENT ON COLUMN vectorstore.vector_store_file.raw IS 'The whole object as the server sent it, fields this version does not know included.';

COMMENT ON COLUMN vectorstore.vector_store_file_batch.id IS 'The file batch id (vsfb_...).';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.vector_store_id IS 'The vector store the batch attaches files to.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.status IS 'in_progress, completed, failed or cancelled (a completed batch may count failed files).';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.created_at IS 'When it was created.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.files_in_progress IS 'Files of the batch still being processed.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.files_completed IS 'Files of the batch processed.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.files_failed IS 'Files of the batch that failed.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.files_cancelled IS 'Files of the batch cancelled.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.files_total IS 'Files in the batch.';
COMMENT ON COLUMN vectorstore.vector_store_file_batch.raw IS 'The whole object as the server sent it, fields this version does not know included.';

COMMENT ON COLUMN vectorstore.vector_store_search_result.file_id IS 'The File the result comes from.';
COMMENT ON COLUMN vectorstore.vector_store_search_result.filename IS 'Its name.';
COMMENT ON COLUMN vectorstore.vector_store_search_result.score IS 'Relevance, 0..1; rows come in descending score order.';
COMMENT ON COLUMN vectorstore.vector_store_search_result.content IS 'The result''s text parts joined in order with a newline.';
COMMENT ON COLUMN vectorstore.vector_store_search_result.attributes IS 'The file''s attributes (join back to your rows through them).';
COMMENT ON COLUMN vectorstore.vector_store_search_result.rank IS '1..n in descending score order (ties keep the API''s order).';
COMMENT ON COLUMN vectorstore.vector_store_search_result.raw IS 'The result object as the server sent it (a compatible server''s own fields included).';
COMMENT ON COLUMN vectorstore.vector_store_search_result.content_parts IS 'The result''s text parts, in order, one element each.';

COMMENT ON COLUMN vectorstore.credential.name IS 'The credential''s name (also its foreign server''s); what vectorstore.credential and vs_credential_grant name.';
COMMENT ON COLUMN vectorstore.credential.base_url IS 'Where its requests go; NULL: vectorstore.base_url.';
COMMENT ON COLUMN vectorstore.credential.organization IS 'Sent as OpenAI-Organization; NULL: none.';
COMMENT ON COLUMN vectorstore.credential.project IS 'Sent as OpenAI-Project; NULL: none.';
COMMENT ON COLUMN vectorstore.credential.auth IS 'How the key is sent: bearer (Authorization: Bearer), api-key (Azure OpenAI) or none.';
COMMENT ON COLUMN vectorstore.credential.query IS 'Query parameters added to every request (Azure''s api-version), a JSON object.';
COMMENT ON COLUMN vectorstore.credential.key_file IS 'Path of the file the key is read from at each use; NULL: the stored key.';
COMMENT ON COLUMN vectorstore.credential.created_at IS 'When it was first stored.';
COMMENT ON COLUMN vectorstore.credential.header_names IS 'Names of its default headers (their values are secrets, in credential_secret).';

COMMENT ON COLUMN vectorstore.credential_secret.name IS 'The credential (vectorstore.credential.name).';
COMMENT ON COLUMN vectorstore.credential_secret.api_key IS 'Its stored key; NULL with a key file or auth none. Never dumped, never shown.';
COMMENT ON COLUMN vectorstore.credential_secret.headers IS 'Its default headers with their values, a JSON object. Never dumped, never shown.';

COMMENT ON COLUMN vectorstore.credentials.name IS 'The credential''s name (also its foreign server''s); what vectorstore.credential and vs_credential_grant name.';
COMMENT ON COLUMN vectorstore.credentials.base_url IS 'Where its requests go; NULL: vectorstore.base_url.';
COMMENT ON COLUMN vectorstore.credentials.organization IS 'Sent as OpenAI-Organization; NULL: none.';
COMMENT ON COLUMN vectorstore.credentials.project IS 'Sent as OpenAI-Project; NULL: none.';
COMMENT ON COLUMN vectorstore.credentials.auth IS 'How the key is sent: bearer (Authorization: Bearer), api-key (Azure OpenAI) or none.';
COMMENT ON COLUMN vectorstore.credentials.query IS 'Query parameters added to every request (Azure''s api-version), a JSON object.';
COMMENT ON COLUMN vectorstore.credentials.key_file IS 'Path of the file the key is read from at each use; NULL: the stored key.';
COMMENT ON COLUMN vectorstore.credentials.created_at IS 'When it was first stored.';
COMMENT ON COLUMN vectorstore.credentials.headers IS 'Names of its default headers, never their values.';
COMMENT ON COLUMN vectorstore.credentials.key IS 'Where the key comes from: file, stored, none (auth none) or missing (stored keys are not dumped: set it again).';
COMMENT ON COLUMN vectorstore.credentials.grantees IS 'Roles granted USAGE on its foreign server (PUBLIC for everyone).';

COMMENT ON COLUMN vectorstore.job.id IS 'The job id, returned by vs_enqueue_upload.';
COMMENT ON COLUMN vectorstore.job.kind IS 'upload (a new file), replace (a new file, then the old one removed) or delete (remove a file).';
COMMENT ON COLUMN vectorstore.job.vector_store_id IS 'The vector store the file is attached to (or removed from).';
COMMENT ON COLUMN vectorstore.job.filename IS 'The file''s name as given (the uploaded file carries a marker prefix: vsjob-<token>-<id>-<secret>_).';
COMMENT ON COLUMN vectorstore.job.content IS 'The bytes to upload; purged once the job has finished and vectorstore.job_retention has passed.';
COMMENT ON COLUMN vectorstore.job.attributes IS 'The file''s attributes.';
COMMENT ON COLUMN vectorstore.job.chunking_strategy IS 'The chunking strategy sent with the attach; NULL: the API''s default.';
COMMENT ON COLUMN vectorstore.job.request_options IS 'request_options (extra_headers, extra_query, extra_body, timeout, max_retries) used for every request of the job.';
COMMENT ON COLUMN vectorstore.job.status IS 'queued, uploading, uploaded, attaching, deleting, completed, failed or cancelled (doc/worker.md).';
COMMENT ON COLUMN vectorstore.job.file_id IS 'The uploaded File, once the API has answered (the file a delete job removes).';
COMMENT ON COLUMN vectorstore.job.replaces_job IS 'For replace and delete jobs: the job whose file goes away.';
COMMENT ON COLUMN vectorstore.job.batch_id IS 'The file batch the job was last attached in.';
COMMENT ON COLUMN vectorstore.job.last_error IS 'Why the last try failed (the API''s message, scrubbed of secrets); NULL after a success.';
COMMENT ON COLUMN vectorstore.job.sync_name IS 'The sync that queued it; NULL for vs_enqueue_upload.';
COMMENT ON COLUMN vectorstore.job.row_key IS 'The source row''s key, for a sync''s job.';
COMMENT ON COLUMN vectorstore.job.created_at IS 'When it was queued.';
COMMENT ON COLUMN vectorstore.job.started_at IS 'When the worker first sent a request for it.';
COMMENT ON COLUMN vectorstore.job.updated_at IS 'When its row last changed.';
COMMENT ON COLUMN vectorstore.job.finished_at IS 'When it reached completed, failed or cancelled.';

COMMENT ON COLUMN vectorstore.jobs.id IS 'The job id, returned by vs_enqueue_upload.';
COMMENT ON COLUMN vectorstore.jobs.kind IS 'upload (a new file), replace (a new file, then the old one removed) or delete (remove a file).';
COMMENT ON COLUMN vectorstore.jobs.vector_store_id IS 'The vector store the file is attached to (or removed from).';
COMMENT ON COLUMN vectorstore.jobs.filename IS 'The file''s name as given (the uploaded file carries a marker prefix: vsjob-<token>-<id>-<secret>_).';
COMMENT ON COLUMN vectorstore.jobs.attributes IS 'The file''s attributes.';
COMMENT ON COLUMN vectorstore.jobs.request_options IS 'request_options (extra_headers, extra_query, extra_body, timeout, max_retries) used for every request of the job.';
COMMENT ON COLUMN vectorstore.jobs.status IS 'queued, uploading, uploaded, attaching, deleting, completed, failed or cancelled (doc/worker.md).';
COMMENT ON COLUMN vectorstore.jobs.file_id IS 'The uploaded File, once the API has answered (the file a delete job removes).';
COMMENT ON COLUMN vectorstore.jobs.replaces_job IS 'For replace and delete jobs: the job whose file goes away.';
COMMENT ON COLUMN vectorstore.jobs.batch_id IS 'The file batch the job was last attached in.';
COMMENT ON COLUMN vectorstore.jobs.last_error IS 'Why the last try failed (the API''s message, scrubbed of secrets); NULL after a success.';
COMMENT ON COLUMN vectorstore.jobs.sync_name IS 'The sync that queued it; NULL for vs_enqueue_upload.';
COMMENT ON COLUMN vectorstore.jobs.row_key IS 'The source row''s key, for a sync''s job.';
COMMENT ON COLUMN vectorstore.jobs.created_at IS 'When it was queued.';
COMMENT ON COLUMN vectorstore.jobs.started_at IS 'When the worker first sent a request for it.';
COMMENT ON COLUMN vectorstore.jobs.updated_at IS 'When its row last changed.';
COMMENT ON COLUMN vectorstore.jobs.finished_at IS 'When it reached completed, failed or cancelled.';
COMMENT ON COLUMN vectorstore.jobs.bytes IS 'Size of the content in bytes (the content itself is not shown); NULL once purged or for a delete job.';
COMMENT ON COLUMN vectorstore.jobs.owner IS 'The role that queued the job, by name.';
COMMENT ON COLUMN vectorstore.jobs.credential IS 'The named credential the job is sent with (NULL: the settings).';
COMMENT ON COLUMN vectorstore.jobs.attempts IS 'Failed tries so far (a 429 is not one); the job fails at vectorstore.worker_max_attempts.';
COMMENT ON COLUMN vectorstore.jobs.not_before IS 'When the worker may next act on the job (back-off, poll time, or a claim''s lease).';

COMMENT ON COLUMN vectorstore.recent_failures.id IS 'The job id, returned by vs_enqueue_upload.';
COMMENT ON COLUMN vectorstore.recent_failures.kind IS 'upload (a new file), replace (a new file, then the old one removed) or delete (remove a file).';
COMMENT ON COLUMN vectorstore.recent_failures.vector_store_id IS 'The vector store the file is attached to (or removed from).';
COMMENT ON COLUMN vectorstore.recent_failures.filename IS 'The file''s name as given (the uploaded file carries a marker prefix: vsjob-<token>-<id>-<secret>_).';
COMMENT ON COLUMN vectorstore.recent_failures.owner IS 'The role that queued the job, by name.';
COMMENT ON COLUMN vectorstore.recent_failures.attempts IS 'Failed tries so far (a 429 is not one); the job fails at vectorstore.worker_max_attempts.';
COMMENT ON COLUMN vectorstore.recent_failures.last_error IS 'Why the last try failed (the API''s message, scrubbed of secrets); NULL after a success.';
COMMENT ON COLUMN vectorstore.recent_failures.finished_at IS 'When it reached completed, failed or cancelled.';

COMMENT ON COLUMN vectorstore.queue_depth.vector_store_id IS 'The vector store.';
COMMENT ON COLUMN vectorstore.queue_depth.status IS 'The jobs'' status.';
COMMENT ON COLUMN vectorstore.queue_depth.jobs IS 'How many of your jobs have this store and status.';
COMMENT ON COLUMN vectorstore.queue_depth.oldest IS 'When the oldest of them was queued.';
COMMENT ON COLUMN vectorstore.queue_depth.last_change IS 'When one of them last changed.';

COMMENT ON COLUMN vectorstore.worker_state.pid IS 'Process id of the running worker; NULL when none runs.';
COMMENT ON COLUMN vectorstore.worker_state.started_at IS 'When the running worker started.';
COMMENT ON COLUMN vectorstore.worker_state.heartbeat_at IS 'When the worker last finished a pass (alert when it stops moving while jobs are pending).';
COMMENT ON COLUMN vectorstore.worker_state.paused IS 'Whether the worker is paused: nothing is sent until vs_worker_resume() (a paused state survives restarts).';
COMMENT ON COLUMN vectorstore.worker_state.paused_reason IS 'Why: vs_worker_pause(), or a copy of a database (restored dump, CREATE DATABASE TEMPLATE) detected.';
COMMENT ON COLUMN vectorstore.worker_state.paused_at IS 'When it was paused.';
COMMENT ON COLUMN vectorstore.worker_state.jobs_done IS 'Jobs completed by the worker since the row was made.';
COMMENT ON COLUMN vectorstore.worker_state.jobs_failed IS 'Jobs the worker failed.';
COMMENT ON COLUMN vectorstore.worker_state.files_uploaded IS 'Files uploaded.';
COMMENT ON COLUMN vectorstore.worker_state.uploads_adopted IS 'Uploads whose answer was lost, found by the sweep and adopted.';
COMMENT ON COLUMN vectorstore.worker_state.duplicates_deleted IS 'Marked files no live job owns (late duplicates, files of failed jobs) deleted by the sweep.';
COMMENT ON COLUMN vectorstore.worker_state.jobs_purged IS 'Finished jobs purged or emptied under vectorstore.job_retention.';
COMMENT ON COLUMN vectorstore.worker_state.last_purge_at IS 'When the last purge ran.';
COMMENT ON COLUMN vectorstore.worker_state.last_error IS 'The worker''s last unexpected error.';
COMMENT ON COLUMN vectorstore.worker_state.system_identifier IS 'The identity of the database the row was made for: its cluster''s system identifier. A row of another identity means this database is a copy.';
COMMENT ON COLUMN vectorstore.worker_state.database_oid IS 'The identity of the database the row was made for: its oid. A row of another identity means this database is a copy.';
COMMENT ON COLUMN vectorstore.worker_state.made_at IS 'When the row was made (of two rows of this database''s identity, the oldest is its own).';
COMMENT ON COLUMN vectorstore.worker_state.nonce IS 'Random, the row''s key; with the identity, makes the marker token.';
COMMENT ON COLUMN vectorstore.worker_state.token IS 'The marker token in uploaded files'' names (md5 of system identifier, database oid and nonce): a copy never adopts or deletes the original''s files.';

COMMENT ON COLUMN vectorstore.worker_status.pid IS 'Process id of the running worker; NULL when none runs.';
COMMENT ON COLUMN vectorstore.worker_status.started_at IS 'When the running worker started.';
COMMENT ON COLUMN vectorstore.worker_status.heartbeat_at IS 'When the worker last finished a pass (alert when it stops moving while jobs are pending).';
COMMENT ON COLUMN vectorstore.worker_status.paused IS 'Whether the worker is paused: nothing is sent until vs_worker_resume() (a paused state survives restarts).';
COMMENT ON COLUMN vectorstore.worker_status.paused_reason IS 'Why: vs_worker_pause(), or a copy of a database (restored dump, CREATE DATABASE TEMPLATE) detected.';
COMMENT ON COLUMN vectorstore.worker_status.paused_at IS 'When it was paused.';
COMMENT ON COLUMN vectorstore.worker_status.jobs_done IS 'Jobs completed by the worker since the row was made.';
COMMENT ON COLUMN vectorstore.worker_status.jobs_failed IS 'Jobs the worker failed.';
COMMENT ON COLUMN vectorstore.worker_status.files_uploaded IS 'Files uploaded.';
COMMENT ON COLUMN vectorstore.worker_status.uploads_adopted IS 'Uploads whose answer was lost, found by the sweep and adopted.';
COMMENT ON COLUMN vectorstore.worker_status.duplicates_deleted IS 'Marked files no live job owns (late duplicates, files of failed jobs) deleted by the sweep.';
COMMENT ON COLUMN vectorstore.worker_status.jobs_purged IS 'Finished jobs purged or emptied under vectorstore.job_retention.';
COMMENT ON COLUMN vectorstore.worker_status.last_purge_at IS 'When the last purge ran.';
COMMENT ON COLUMN vectorstore.worker_status.last_error IS 'The worker''s last unexpected error.';
COMMENT ON COLUMN vectorstore.worker_status.backend_type IS 'The worker''s backend_type in pg_stat_activity (vectorstore worker); NULL when none runs.';
COMMENT ON COLUMN vectorstore.worker_status.application_name IS 'The worker''s application_name in pg_stat_activity.';
COMMENT ON COLUMN vectorstore.worker_status.since_heartbeat IS 'Time since heartbeat_at.';
COMMENT ON COLUMN vectorstore.worker_status.jobs_pending IS 'Your jobs not finished yet (all jobs for a superuser).';
COMMENT ON COLUMN vectorstore.worker_status.jobs_per_second IS 'Your jobs completed per second over the last minute.';
COMMENT ON COLUMN vectorstore.worker_status.sweep_due_at IS 'When the next sweep (the look for lost uploads and stray files) is due.';
COMMENT ON COLUMN vectorstore.worker_status.last_sweep_at IS 'When a sweep last finished.';

COMMENT ON COLUMN vectorstore.sweep.owner IS 'The role whose files the sweep lists.';
COMMENT ON COLUMN vectorstore.sweep.credential IS 'The credential it lists them with ('''' for the settings).';
COMMENT ON COLUMN vectorstore.sweep.due_at IS 'When the next sweep is due; NULL: none planned.';
COMMENT ON COLUMN vectorstore.sweep.listing_started_at IS 'When the listing in progress started (jobs lost before it are decided by it).';
COMMENT ON COLUMN vectorstore.sweep.cursor IS 'Where the listing in progress has got to (the after of the next page).';
COMMENT ON COLUMN vectorstore.sweep.pages IS 'Pages listed so far by the listing in progress.';
COMMENT ON COLUMN vectorstore.sweep.errors IS 'Listings that failed in a row.';
COMMENT ON COLUMN vectorstore.sweep.last_done_at IS 'When a listing last finished.';
COMMENT ON COLUMN vectorstore.sweep.last_error IS 'Why the last listing failed.';

COMMENT ON COLUMN vectorstore.sync.name IS 'The sync''s name, given to vs_sync_create.';
COMMENT ON COLUMN vectorstore.sync.vector_store_id IS 'The vector store the rows go to.';
COMMENT ON COLUMN vectorstore.sync.key_column IS 'The column that identifies a row (one file per key).';
COMMENT ON COLUMN vectorstore.sync.content IS 'The column or SQL expression (over the row, aliased t) that becomes the file''s text.';
COMMENT ON COLUMN vectorstore.sync.attribute_columns IS 'Columns sent as the file''s attributes (timestamps as epoch seconds).';
COMMENT ON COLUMN vectorstore.sync.filename_pattern IS 'format() pattern of the file name, %s being the key.';
COMMENT ON COLUMN vectorstore.sync.chunking_strategy IS 'The chunking strategy of its files; NULL: the API''s default.';
COMMENT ON COLUMN vectorstore.sync.request_options IS 'request_options used for every request of its jobs.';
COMMENT ON COLUMN vectorstore.sync.use_trigger IS 'Whether a statement trigger on the source queues changes after each commit.';
COMMENT ON COLUMN vectorstore.sync.created_at IS 'When it was created.';
COMMENT ON COLUMN vectorstore.sync.last_run_at IS 'When a run last finished (vs_sync_run, or the worker for a trigger-mode sync).';
COMMENT ON COLUMN vectorstore.sync.last_run IS 'The last run''s counts: {"new", "changed", "deleted", "unchanged"}.';
COMMENT ON COLUMN vectorstore.sync.last_error IS 'The last trigger-mode run''s error; NULL after a success.';
COMMENT ON COLUMN vectorstore.sync.retry_at IS 'When the worker tries a failed trigger-mode run again.';
COMMENT ON COLUMN vectorstore.sync.errors IS 'Failed trigger-mode runs in a row; each doubles the wait before the next (10 s up to an hour).';

COMMENT ON COLUMN vectorstore.syncs.name IS 'The sync''s name, given to vs_sync_create.';
COMMENT ON COLUMN vectorstore.syncs.vector_store_id IS 'The vector store the rows go to.';
COMMENT ON COLUMN vectorstore.syncs.key_column IS 'The column that identifies a row (one file per key).';
COMMENT ON COLUMN vectorstore.syncs.content IS 'The column or SQL expression (over the row, aliased t) that becomes the file''s text.';
COMMENT ON COLUMN vectorstore.syncs.attribute_columns IS 'Columns sent as the file''s attributes (timestamps as epoch seconds).';
COMMENT ON COLUMN vectorstore.syncs.filename_pattern IS 'format() pattern of the file name, %s being the key.';
COMMENT ON COLUMN vectorstore.syncs.chunking_strategy IS 'The chunking strategy of its files; NULL: the API''s default.';
COMMENT ON COLUMN vectorstore.syncs.request_options IS 'request_options used for every request of its jobs.';
COMMENT ON COLUMN vectorstore.syncs.use_trigger IS 'Whether a statement trigger on the source queues changes after each commit.';
COMMENT ON COLUMN vectorstore.syncs.created_at IS 'When it was created.';
COMMENT ON COLUMN vectorstore.syncs.last_run_at IS 'When a run last finished (vs_sync_run, or the worker for a trigger-mode sync).';
COMMENT ON COLUMN vectorstore.syncs.last_run IS 'The last run''s counts: {"new", "changed", "deleted", "unchanged"}.';
COMMENT ON COLUMN vectorstore.syncs.last_error IS 'The last trigger-mode run''s error; NULL after a success.';
COMMENT ON COLUMN vectorstore.syncs.source IS 'The table or view read, by qualified name.';
COMMENT ON COLUMN vectorstore.syncs.owner IS 'The role the sync belongs to; its rows are read with this role''s rights.';
COMMENT ON COLUMN vectorstore.syncs.credential IS 'The credential its jobs are sent with (NULL: the settings).';

COMMENT ON COLUMN vectorstore.sync_row.sync_name IS 'The sync.';
COMMENT ON COLUMN vectorstore.sync_row.row_key IS 'The source row''s key, as text.';
COMMENT ON COLUMN vectorstore.sync_row.job_id IS 'The job last queued for the row.';

COMMENT ON COLUMN vectorstore.sync_rows.sync_name IS 'The sync.';
COMMENT ON COLUMN vectorstore.sync_rows.source IS 'Its source table or view.';
COMMENT ON COLUMN vectorstore.sync_rows.vector_store_id IS 'Its vector store.';
COMMENT ON COLUMN vectorstore.sync_rows.row_key IS 'The source row''s key, as text.';
COMMENT ON COLUMN vectorstore.sync_rows.file_id IS 'The file search currently returns for the row (the last completed one while a replacement is on its way).';
COMMENT ON COLUMN vectorstore.sync_rows.job_id IS 'The job last queued for the row.';
COMMENT ON COLUMN vectorstore.sync_rows.status IS 'That job''s status.';
COMMENT ON COLUMN vectorstore.sync_rows.content_hash IS 'md5 of the row''s content and attributes as last queued.';

COMMENT ON COLUMN vectorstore.sync_change.id IS 'Order of the changes.';
COMMENT ON COLUMN vectorstore.sync_change.sync_name IS 'The trigger-mode sync whose source changed.';
COMMENT ON COLUMN vectorstore.sync_change.relid IS 'The table that changed (its oid in this database).';
COMMENT ON COLUMN vectorstore.sync_change.changed_at IS 'When it changed.';

COMMENT ON COLUMN vectorstore.sync_progress.name IS 'The sync.';
COMMENT ON COLUMN vectorstore.sync_progress.vector_store_id IS 'Its vector store.';
COMMENT ON COLUMN vectorstore.sync_progress.rows IS 'Rows it maps to files.';
COMMENT ON COLUMN vectorstore.sync_progress.queued IS 'Rows whose last job waits to be sent.';
COMMENT ON COLUMN vectorstore.sync_progress.uploading IS 'Rows whose last job is in flight (uploading, uploaded, attaching, deleting).';
COMMENT ON COLUMN vectorstore.sync_progress.attached IS 'Rows whose last job completed.';
COMMENT ON COLUMN vectorstore.sync_progress.failed IS 'Rows whose last job failed or was cancelled (the next run queues them again).';
COMMENT ON COLUMN vectorstore.sync_progress.jobs_pending IS 'Its jobs not finished yet.';
COMMENT ON COLUMN vectorstore.sync_progress.last_run_at IS 'When a run last finished.';
COMMENT ON COLUMN vectorstore.sync_progress.last_run IS 'The last run''s counts: {"new", "changed", "deleted", "unchanged"}.';
COMMENT ON COLUMN vectorstore.sync_progress.last_error IS 'The last trigger-mode run''s error.';
COMMENT ON COLUMN vectorstore.sync_progress.eta IS 'Estimated time until its pending jobs are done, from the last five minutes'' throughput; NULL: nothing done lately.';

COMMENT ON COLUMN vectorstore.progress.pid IS 'The session running the call.';
COMMENT ON COLUMN vectorstore.progress.usename IS 'Its role.';
COMMENT ON COLUMN vectorstore.progress.datname IS 'Its database.';
COMMENT ON COLUMN vectorstore.progress.phase IS 'What the call is doing: requests (sent together), or waiting for a batch or file to be processed.';
COMMENT ON COLUMN vectorstore.progress.done IS 'Requests finished (files processed, while waiting).';
COMMENT ON COLUMN vectorstore.progress.total IS 'Requests (files) in all.';
COMMENT ON COLUMN vectorstore.progress.percent IS 'done / total as a percentage.';
COMMENT ON COLUMN vectorstore.progress.started_at IS 'When the call started.';
COMMENT ON COLUMN vectorstore.progress.updated_at IS 'When its progress last moved.';
COMMENT ON COLUMN vectorstore.progress.running_for IS 'Time since started_at.';
COMMENT ON COLUMN vectorstore.progress.query IS 'The statement that made the call (pg_stat_activity.query).';
