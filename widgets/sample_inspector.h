// Sample inspector: a sortable table of a run's samples (iteration, reward, gold, weight, accepted,
// length; with the accuracy gold the extracted answer and ✓/✗) and the text of the selected one.  The final answer is highlighted.
#pragma once
#include <QAbstractTableModel>
#include <QWidget>

#include "run_data.h"

class QTableView;
class QTextEdit;
class QSortFilterProxyModel;

namespace rudder::widgets {

class SampleTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Answer: the final answer the response states (shown when the gold is accuracy, "answer:FIELD").
    enum Column { Prompt, Iteration, Index, Reward, Gold, Weight, Accepted, Length, Answer, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setRun(const RunData* run);
    void sync();   // picks up samples appended to the run since the last call
    int rowCount(const QModelIndex& = {}) const override { return run_ ? int(rows_) : 0; }
    int columnCount(const QModelIndex& = {}) const override { return ColumnCount; }
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation o, int role) const override;
    SampleRef refAt(int row) const { return run_->samples()[size_t(row)]; }
    int rowOf(SampleRef r) const;
    bool graded() const;   // the run's gold is accuracy against reference answers

private:
    const RunData* run_ = nullptr;
    size_t rows_ = 0;
    std::vector<SampleRef> finals_;
};

class SampleInspector : public QWidget {
    Q_OBJECT
public:
    explicit SampleInspector(QWidget* parent = nullptr);
    void setRun(const RunData* run);
    void sync();
    void select(SampleRef ref);
    std::optional<SampleRef> selected() const;
    SampleTableModel* model() const { return model_; }
    QTableView* table() const { return table_; }
    QTextEdit* text() const { return text_; }

signals:
    void sampleSelected(rudder::widgets::SampleRef ref);

private:
    void showSample(SampleRef ref);
    SampleTableModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* table_;
    QTextEdit* text_;
    const RunData* run_ = nullptr;
};

} // namespace rudder::widgets
