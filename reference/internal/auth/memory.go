package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

// Memory authenticates PLAIN users and answers grants from tables in memory, for in-process
// tests of the handlers; production asks Pulsar (Pulsar). Grants behave as Pulsar's: a role's
// grants on the namespace apply to every topic, and a name no topic can have has the
// namespace's grants only; a group is authorized as Pulsar authorizes a subscription.
type Memory struct {
	mu            sync.Mutex
	users         map[string]memoryUser
	grants        map[string]map[string][]Action // role -> topic ("" for the namespace) -> actions
	subscriptions map[string][]string            // group -> roles that may use it (none: any)
	err           error
}

type memoryUser struct {
	password, role string
	expires        time.Time
}

// NewMemory returns an authorizer with no users and no grants.
func NewMemory() *Memory {
	return &Memory{users: map[string]memoryUser{}, grants: map[string]map[string][]Action{}, subscriptions: map[string][]string{}}
}

// AddUser lets user in with password as role.
func (m *Memory) AddUser(user, password, role string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[user] = memoryUser{password: password, role: role}
}

// Expire makes user's credentials expire at t, as a token's "exp" claim does.
func (m *Memory) Expire(user string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.users[user]
	u.expires = t
	m.users[user] = u
}

// Grant lets role take actions on topic ("" for the namespace: every topic, and groups).
func (m *Memory) Grant(role, topic string, actions ...Action) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.grants[role] == nil {
		m.grants[role] = map[string][]Action{}
	}
	m.grants[role][topic] = append(m.grants[role][topic], actions...)
}

// GrantSubscription lets roles use group, as Pulsar's subscription permission does: once a
// group has roles, only they (with consume on the namespace) may use it.
func (m *Memory) GrantSubscription(group string, roles ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subscriptions[group] = append(m.subscriptions[group], roles...)
}

// Fail makes every later check fail with err, as an unreachable Pulsar does (an error, not a
// denial); nil heals.
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// Authenticate checks a user's password.
func (m *Memory) Authenticate(_ context.Context, user, password string) (Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return Principal{}, m.err
	}
	u, ok := m.users[user]
	if !ok || u.password != password {
		return Principal{}, fmt.Errorf("%w: unknown user or wrong password", ErrCredentials)
	}
	if !u.expires.IsZero() && !time.Now().Before(u.expires) {
		return Principal{}, fmt.Errorf("%w: the credentials have expired", ErrCredentials)
	}
	return Principal{Role: u.role, Expires: u.expires}, nil
}

// Allowed says whether role may take action on topic ("" for the namespace).
func (m *Memory) Allowed(_ context.Context, role string, action Action, topic string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	g := m.grants[role]
	if slices.Contains(g[""], action) {
		return true, nil
	}
	return topic != "" && naming.Check(topic) == nil && slices.Contains(g[topic], action), nil
}

// GroupAllowed says whether role may use group: consume on the namespace, and the group's
// subscription permission empty or listing role.
func (m *Memory) GroupAllowed(_ context.Context, role, group string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	roles := m.subscriptions[group]
	return slices.Contains(m.grants[role][""], Consume) && (len(roles) == 0 || slices.Contains(roles, role)), nil
}
