-- The level follows the points earned with approved tasks, not the balance that claims spend
-- (docs/decisions.md, "Level on points earned"). Existing students get the sum of their approved
-- assignments (negative tasks subtract; the sum may be negative, the level formula clamps it).
ALTER TABLE students ADD COLUMN earned_points INTEGER NOT NULL DEFAULT 0;
UPDATE students SET earned_points = (
    SELECT COALESCE(SUM(points), 0) FROM task_assignments
    WHERE task_assignments.student = students.id AND task_assignments.status = 'completed'
);
UPDATE students SET level = 1 + MAX(earned_points, 0) / 100;
