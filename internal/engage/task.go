package engage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/id"
	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/rules"
	"github.com/jifen/jifen/internal/store"
)

// Task periods.
const (
	Once = "once"
	Day  = "day"
	Week = "week"
)

// Task counts events of one type toward a target; reaching it awards the
// reward once per period.
type Task struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	EventType string     `json:"event_type"`
	Target    int64      `json:"target"`
	Period    string     `json:"period" api:"enum=once|day|week"`
	Reward    TaskReward `json:"reward"`
	Status    string     `json:"status" api:"enum=active|paused"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// TaskReward is what completing a task earns.
type TaskReward struct {
	Points   int64  `json:"points" api:"min=1"`
	Currency string `json:"currency,omitempty" doc:"a point currency of the program (default points)"`
}

// TaskInput creates or changes a task; nil fields stay as they are.
type TaskInput struct {
	Name      *string     `json:"name,omitempty" api:"minlen=1,maxlen=100" doc:"required on create"`
	EventType *string     `json:"event_type,omitempty" doc:"required on create: the event type whose events advance the task"`
	Target    *int64      `json:"target,omitempty" api:"min=1,max=1000000" doc:"required on create: events per period"`
	Period    *string     `json:"period,omitempty" api:"enum=once|day|week" doc:"required on create"`
	Reward    *TaskReward `json:"reward,omitempty" doc:"required on create"`
	Status    *string     `json:"status,omitempty" api:"enum=active|paused,default=\"active\""`
}

func taskOf(r store.Task) Task {
	t := Task{ID: r.ID, Name: r.Name, EventType: r.EventType, Target: r.Target, Period: r.Period, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	json.Unmarshal(r.Reward, &t.Reward)
	return t
}

func (t Task) record(programID string) store.Task {
	reward, _ := json.Marshal(t.Reward)
	return store.Task{ID: t.ID, ProgramID: programID, Name: t.Name, EventType: t.EventType, Target: t.Target,
		Period: t.Period, Reward: reward, Status: t.Status, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (in TaskInput) apply(t *Task, p program.Program) error {
	var fs failure.Fields
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.EventType != nil {
		t.EventType = *in.EventType
	}
	if in.Target != nil {
		t.Target = *in.Target
	}
	if in.Period != nil {
		t.Period = *in.Period
	}
	if in.Reward != nil {
		t.Reward = *in.Reward
	}
	if in.Status != nil {
		t.Status = *in.Status
	}
	if n := len([]rune(t.Name)); n < 1 || n > 100 {
		fs.Add("name", "must be 1 to 100 characters")
	}
	if !rules.ValidEventType(t.EventType) {
		fs.Add("event_type", "must be an event type such as content.shared")
	}
	if t.Target < 1 || t.Target > 1_000_000 {
		fs.Add("target", "must be between 1 and 1000000")
	}
	if t.Period != Once && t.Period != Day && t.Period != Week {
		fs.Add("period", "must be once, day or week")
	}
	if t.Reward.Points < 1 {
		fs.Add("reward.points", "must be at least 1")
	}
	if t.Reward.Currency != "" {
		if _, ok := p.Currencies[t.Reward.Currency]; !ok {
			fs.Add("reward.currency", "unknown currency %q", t.Reward.Currency)
		}
	}
	if t.Status != "active" && t.Status != "paused" {
		fs.Add("status", "must be active or paused")
	}
	return fs.Err()
}

// CreateTask adds a task; it is active unless the input says paused.
func CreateTask(ctx context.Context, tx *store.Tx, p program.Program, in TaskInput, now time.Time) (Task, error) {
	t := Task{ID: id.New("tsk"), Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&t, p); err != nil {
		return Task{}, err
	}
	return t, tx.SaveTask(ctx, t.record(p.ID))
}

// UpdateTask changes a task; progress already made is kept.
func UpdateTask(ctx context.Context, tx *store.Tx, p program.Program, taskID string, in TaskInput, now time.Time) (Task, error) {
	r, err := tx.Task(ctx, p.ID, taskID)
	if err != nil || r.Status == "deleted" {
		return Task{}, failure.New(failure.NotFound, "task %s not found", taskID)
	}
	t := taskOf(r)
	if err := in.apply(&t, p); err != nil {
		return Task{}, err
	}
	t.UpdatedAt = now
	return t, tx.SaveTask(ctx, t.record(p.ID))
}

// GetTask reads a task.
func GetTask(ctx context.Context, c *store.Conn, programID, taskID string) (Task, error) {
	r, err := c.Task(ctx, programID, taskID)
	if err != nil {
		return Task{}, err
	}
	if r.Status == "deleted" {
		return Task{}, failure.New(failure.NotFound, "task %s not found", taskID)
	}
	return taskOf(r), nil
}

// ListTasks lists a program's tasks, oldest first.
func ListTasks(ctx context.Context, c *store.Conn, programID string) ([]Task, error) {
	rows, err := c.Tasks(ctx, programID, "")
	if err != nil {
		return nil, err
	}
	out := make([]Task, len(rows))
	for i, r := range rows {
		out[i] = taskOf(r)
	}
	return out, nil
}

// periodKey names the period of a task that at falls in.
func periodKey(period string, at time.Time, loc *time.Location) string {
	day, week, _ := rules.Periods(at, loc)
	switch period {
	case Day:
		return day
	case Week:
		return week
	}
	return Once
}

// Completion is a task a member completed with an event.
type Completion struct {
	TaskID        string `json:"task_id"`
	Currency      string `json:"currency"`
	Points        int64  `json:"points"`
	TransactionID string `json:"transaction_id,omitempty"`
}

// Advance counts an event toward the member's active tasks of its type in
// the period the event falls in, and awards each task whose target it
// reaches (once per period). The caller holds the member's lock.
func Advance(ctx context.Context, tx *store.Tx, p program.Program, memberID, eventType, merchantID string, at, now time.Time) ([]Completion, error) {
	tasks, err := tx.Tasks(ctx, p.ID, eventType)
	if err != nil || len(tasks) == 0 {
		return nil, err
	}
	keys := make(map[string]string, len(tasks))
	for _, r := range tasks {
		keys[r.ID] = periodKey(r.Period, at, p.Location)
	}
	progress, err := tx.Progress(ctx, p.ID, memberID, keys)
	if err != nil {
		return nil, err
	}
	var done []Completion
	for _, r := range tasks {
		t := taskOf(r)
		tp, ok := progress[t.ID]
		if !ok {
			tp = store.TaskProgress{TaskID: t.ID, MemberID: memberID, Period: keys[t.ID]}
		}
		if tp.CompletedAt != nil {
			continue
		}
		tp.Progress++
		if tp.Progress >= t.Target {
			earned, err := ledger.Earn(ctx, tx, p.Ledger(), ledger.EarnInput{
				MemberID: memberID, Points: t.Reward.Points, Currency: t.Reward.Currency, MerchantID: merchantID,
				Reason: "task: " + t.Name, Reference: fmt.Sprintf("task:%s:%s", t.ID, tp.Period), EarnedAt: at, Now: now,
			})
			if err != nil {
				return nil, err
			}
			tp.CompletedAt, tp.TransactionID = &now, null.String(earned.ID)
			done = append(done, Completion{TaskID: t.ID, Currency: earned.Currency, Points: earned.Points, TransactionID: earned.ID})
		}
		if err := tx.SaveProgress(ctx, p.ID, tp); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// MemberTask is a member's progress on a task in its current period.
type MemberTask struct {
	TaskID        string     `json:"task_id"`
	Name          string     `json:"name"`
	EventType     string     `json:"event_type"`
	Period        string     `json:"period"`
	Progress      int64      `json:"progress"`
	Target        int64      `json:"target"`
	CompletedAt   *time.Time `json:"completed_at"`
	TransactionID *string    `json:"transaction_id"`
}

// MemberTasks lists the member's progress on every active task, in the
// period that now falls in.
func MemberTasks(ctx context.Context, c *store.Conn, p program.Program, memberID string, now time.Time) ([]MemberTask, error) {
	rows, err := c.Tasks(ctx, p.ID, "")
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, r := range rows {
		if r.Status == "active" {
			keys[r.ID] = periodKey(r.Period, now, p.Location)
		}
	}
	progress, err := c.Progress(ctx, p.ID, memberID, keys)
	if err != nil {
		return nil, err
	}
	out := []MemberTask{}
	for _, r := range rows {
		if r.Status != "active" {
			continue
		}
		tp := progress[r.ID]
		mt := MemberTask{TaskID: r.ID, Name: r.Name, EventType: r.EventType, Period: r.Period, Progress: min(tp.Progress, r.Target),
			Target: r.Target, CompletedAt: tp.CompletedAt}
		if tp.TransactionID != "" {
			s := string(tp.TransactionID)
			mt.TransactionID = &s
		}
		out = append(out, mt)
	}
	return out, nil
}

// DeleteTask removes a task; progress rows stay for the record.
func DeleteTask(ctx context.Context, tx *store.Tx, p program.Program, taskID string, now time.Time) error {
	r, err := tx.Task(ctx, p.ID, taskID)
	if err != nil || r.Status == "deleted" {
		return failure.New(failure.NotFound, "task %s not found", taskID)
	}
	r.Status, r.UpdatedAt = "deleted", now
	return tx.SaveTask(ctx, r)
}
