-- Set once a payment intent passed its checks against the project as it was (version): edits are
-- refused from then on (docs/decisions.md, "Payments", a project edit racing an intent).
ALTER TABLE projects ADD COLUMN payment_started INTEGER NOT NULL DEFAULT 0;
